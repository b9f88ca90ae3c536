"""Models the user imports (a Hugging Face folder or an ONNX file), beside the built-in catalogue.

An imported model is copied under ``$INGEST_HOME/imported/<model_id>/`` together with ``spec.json`` (the
ModelSpec as JSON). Its files are validated at import time, so an unsupported architecture fails there with
a clear error rather than at first use; ``ingest.models.cache.ensure_built`` converts it like a built-in one.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx.external_data_helper import uses_external_data
from pydantic import BaseModel, ConfigDict, ValidationError
from tokenizers import Tokenizer

from ingest.models.cache import sha256_file
from ingest.models.catalogue import (
    BUILTIN_MODELS,
    ModelSpec,
    ModelVariant,
    Pooling,
    WeightFormat,
    WeightSource,
    find_builtin,
    find_builtin_variant,
)
from ingest.models.convert.build import clean_tokenizer
from ingest.models.convert.hf import UnsupportedModelError, read_checkpoint, to_encoder_weights
from ingest.models.convert.onnx_adapt import adapt_onnx
from ingest.models.errors import (
    IllegalArgumentException,
    ModelError,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from ingest.models.home import ingest_home, private_dir, private_tree
from ingest.models.results import TaskType

SPEC_FILE = "spec.json"
# Elasticsearch's rule for trained model ids.
_MODEL_ID = re.compile(r"^[a-z0-9](?:[a-z0-9_\-.]{0,62}[a-z0-9])?$")
_SUPPORTED_TASKS = {TaskType.TEXT_EMBEDDING: Pooling.MEAN, TaskType.SPARSE_EMBEDDING: Pooling.SPLADE,
                    TaskType.RERANK: Pooling.CLASSIFY}


class _SourceJson(BaseModel):
    model_config = ConfigDict(extra="forbid")
    distribution: str
    version: str
    path: str
    sha256: str
    install_hint: str
    tokenizer_path: str | None = None
    tokenizer_sha256: str | None = None


class _SpecJson(BaseModel):
    """``spec.json``: a ModelSpec at the JSON boundary."""

    model_config = ConfigDict(extra="forbid")
    model_id: str
    aliases: list[str]
    task_type: TaskType
    architecture: str
    weight_format: WeightFormat
    source: _SourceJson
    pooling: Pooling
    dims: int | None
    max_tokens: int
    licence: str
    description: str
    query_prefix: str = ""
    passage_prefix: str = ""
    similarity: str = "cosine"
    notes: list[str] = []

    def to_spec(self) -> ModelSpec:
        data = self.model_dump()
        data["aliases"] = tuple(self.aliases)
        data["notes"] = tuple(self.notes)
        data["source"] = WeightSource(**self.source.model_dump())
        return ModelSpec(**data)


def imported_dir() -> Path:
    """``$INGEST_HOME/imported``: one folder per imported model."""
    return ingest_home() / "imported"


def _not_found(model_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Could not find trained model [{model_id}]")


def _read_spec(folder: Path) -> ModelSpec:
    try:
        return _SpecJson.model_validate_json((folder / SPEC_FILE).read_text(encoding="utf-8")).to_spec()
    except (OSError, ValidationError) as exc:
        raise ModelError(f"imported model folder [{folder}] has an unreadable {SPEC_FILE}: {exc}") from exc


def resolve_model(model_id: str) -> ModelSpec:
    """The spec for a built-in id/alias or an imported model; Elasticsearch's not-found error otherwise."""
    spec = find_builtin(model_id)
    if spec is not None:
        return spec
    if _MODEL_ID.match(model_id):
        folder = imported_dir() / model_id
        if (folder / SPEC_FILE).is_file():
            return _read_spec(folder)
    raise _not_found(model_id)


def resolve_variant(model_id: str) -> ModelVariant:
    """The variant ``model_id`` names: built-in portable or optimised (``_linux-x86_64``), or imported."""
    variant = find_builtin_variant(model_id)
    if variant is not None:
        return variant
    return ModelVariant(model_id, resolve_model(model_id), False)


def list_variants() -> list[ModelVariant]:
    """Every trained-model id: each built-in model, its optimised variant right after it, then imported ones."""
    out: list[ModelVariant] = []
    for spec in list_models():
        out.append(ModelVariant(spec.model_id, spec, False))
        if spec.optimized_id:
            out.append(ModelVariant(spec.optimized_id, spec, True))
    return out


def list_models() -> list[ModelSpec]:
    """Built-in models, then imported ones sorted by id."""
    imported: list[ModelSpec] = []
    root = imported_dir()
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if (folder / SPEC_FILE).is_file():
                imported.append(_read_spec(folder))
    return [*BUILTIN_MODELS, *imported]


def _check_id(model_id: str) -> None:
    if find_builtin(model_id) is not None:
        raise ResourceAlreadyExistsException(f"Trained machine learning model [{model_id}] already exists")
    if not _MODEL_ID.match(model_id):
        raise IllegalArgumentException(
            f"Invalid model_id; '{model_id}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or "
            "underscores; must start and end with alphanumeric"
        )
    if (imported_dir() / model_id / SPEC_FILE).exists():
        raise ResourceAlreadyExistsException(f"Trained machine learning model [{model_id}] already exists")


@dataclass(frozen=True)
class _Staged:
    weight_format: WeightFormat
    weights_name: str
    architecture: str
    dims: int | None
    max_tokens: int


def _stage_hf(src: Path, stage: Path, task_type: TaskType) -> _Staged:
    weights = sorted(src.glob("*.safetensors"))
    if len(weights) != 1:
        raise UnsupportedModelError(
            f"expected exactly one .safetensors file in [{src}], found {len(weights)}"
        )
    ckpt = read_checkpoint(src)
    encoder = to_encoder_weights(ckpt, with_mlm_head=task_type == TaskType.SPARSE_EMBEDDING,
                                 with_classifier=task_type == TaskType.RERANK)
    arch = "xlm-roberta" if encoder.config.position_offset else "bert"
    for f in (weights[0], src / "config.json"):
        shutil.copy(f, stage / f.name)
    dims = encoder.config.hidden_size if task_type == TaskType.TEXT_EMBEDDING else None
    return _Staged(
        WeightFormat.SAFETENSORS, weights[0].name, arch, dims, min(512, encoder.config.max_positions)
    )


def _stage_onnx(onnx_file: Path, stage: Path, task_type: TaskType, vocab_size: int) -> _Staged:
    if task_type == TaskType.RERANK:
        raise UnsupportedModelError(
            "rerank models are imported from a Hugging Face folder (BertForSequenceClassification or "
            "XLMRobertaForSequenceClassification: config.json, safetensors, tokenizer.json), not from ONNX files"
        )
    header = onnx.load(str(onnx_file), load_external_data=False)
    if any(uses_external_data(t) for t in header.graph.initializer):
        raise UnsupportedModelError(
            "ONNX models with external data files are not supported; save it as one file"
        )
    model = adapt_onnx(onnx_file, _SUPPORTED_TASKS[task_type], vocab_size=vocab_size)
    dim = model.graph.output[0].type.tensor_type.shape.dim[-1]
    if task_type == TaskType.SPARSE_EMBEDDING:
        dims = None
    else:
        dims = dim.dim_value if dim.HasField("dim_value") else None
        if not dims:
            raise UnsupportedModelError("the ONNX model does not declare its embedding size")
    shutil.copy(onnx_file, stage / "model.onnx")
    return _Staged(WeightFormat.ONNX, "model.onnx", "onnx", dims, _onnx_max_tokens(header))


def _onnx_max_tokens(model: onnx.ModelProto) -> int:
    """The longest input the ONNX model can embed: its position table's rows (at most 512).

    Longer inputs would overrun the table and fail inside onnxruntime, so they must be truncated to this.
    RoBERTa-style tables carry two extra rows for the padding offset (514 for 512 positions), hence the
    power-of-two rule. Without a recognisable table the usual 512 is assumed."""
    rows = [t.dims[0] for t in model.graph.initializer
            if "position_embedding" in t.name.lower() and len(t.dims) == 2]
    if not rows:
        return 512
    positions = int(rows[0])
    if positions > 2 and (positions - 2) & (positions - 3) == 0:
        positions -= 2
    return min(512, positions)


def import_model(path: Path, model_id: str, task_type: TaskType) -> ModelSpec:
    """Import a HF folder (config.json + one .safetensors + tokenizer.json; BERT or XLM-RoBERTa) or an ONNX
    file (inputs input_ids/attention_mask[/token_type_ids], with tokenizer.json beside it) as ``model_id``.

    Raises IllegalArgumentException for a bad id, task type or unsupported model, and
    ResourceAlreadyExistsException when the id is taken.
    """
    path = Path(path).expanduser().resolve()
    _check_id(model_id)
    try:
        task = TaskType(task_type)
    except ValueError:
        task = None
    if task not in _SUPPORTED_TASKS:
        raise IllegalArgumentException(
            f"task_type [{task_type}] is not supported for imported models; use [text_embedding], [sparse_embedding] "
            "or [rerank]"
        )
    assert task is not None
    folder = path if path.is_dir() else path.parent
    tokenizer_file = folder / "tokenizer.json"
    if not path.exists():
        raise IllegalArgumentException(f"[{path}] does not exist")
    if not tokenizer_file.is_file():
        raise IllegalArgumentException(f"no tokenizer.json found in [{folder}]")
    try:
        tokenizer = clean_tokenizer(Tokenizer.from_file(str(tokenizer_file)))
    except Exception as exc:  # tokenizers raises a bare Exception on parse errors
        raise IllegalArgumentException(f"[{tokenizer_file}] is not a valid tokenizer.json: {exc}") from exc

    root = private_dir(imported_dir())
    stage = Path(tempfile.mkdtemp(prefix=f".{model_id}.", dir=root))
    try:
        try:
            if path.is_file() and path.suffix == ".onnx":
                staged = _stage_onnx(path, stage, task, tokenizer.get_vocab_size())
            elif path.is_dir() and (path / "config.json").is_file():
                staged = _stage_hf(path, stage, task)
            elif path.is_dir() and (path / "model.onnx").is_file():
                staged = _stage_onnx(path / "model.onnx", stage, task, tokenizer.get_vocab_size())
            else:
                raise UnsupportedModelError(
                    f"[{path}] is neither a Hugging Face folder (config.json + .safetensors) nor an ONNX model"
                )
        except UnsupportedModelError as exc:
            raise IllegalArgumentException(f"cannot import [{model_id}]: {exc}") from exc
        tokenizer.save(str(stage / "tokenizer.json"))
        final = root / model_id
        source = _SourceJson(
            distribution="imported",
            version="",
            path=str(final / staged.weights_name),
            sha256=sha256_file(stage / staged.weights_name),
            install_hint=f"ingest models import {path} --model-id {model_id} --task-type {task}",
            tokenizer_path=str(final / "tokenizer.json"),
            tokenizer_sha256=sha256_file(stage / "tokenizer.json"),
        )
        spec_json = _SpecJson(
            model_id=model_id,
            aliases=[],
            task_type=task,
            architecture=staged.architecture,
            weight_format=staged.weight_format,
            source=source,
            pooling=_SUPPORTED_TASKS[task],
            dims=staged.dims,
            max_tokens=staged.max_tokens,
            licence="unknown (imported by the user)",
            description=f"imported from {path}",
            similarity="dot_product" if task == TaskType.SPARSE_EMBEDDING else "cosine",
        )
        (stage / SPEC_FILE).write_text(spec_json.model_dump_json(indent=2), encoding="utf-8")
        private_tree(stage)
        try:
            os.rename(stage, final)  # atomic; fails if another import of the same id won the race
        except OSError as exc:
            raise ResourceAlreadyExistsException(
                f"Trained machine learning model [{model_id}] already exists"
            ) from exc
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return spec_json.to_spec()


def delete_imported(model_id: str) -> None:
    """Remove an imported model (its built files in the model cache stay until the cache is cleared)."""
    if find_builtin(model_id) is not None:
        raise IllegalArgumentException(f"[{model_id}] is a built-in model and cannot be deleted")
    folder = imported_dir() / model_id
    if not _MODEL_ID.match(model_id) or not (folder / SPEC_FILE).is_file():
        raise _not_found(model_id)
    shutil.rmtree(folder)
