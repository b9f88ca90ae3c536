"""``chunking_settings`` validation with Elasticsearch's defaults (sentence strategy, 250 words, overlap 1)."""

from __future__ import annotations

from typing import Any

from ingest.models.jsontypes import JsonInput, JsonObject
from ingest.models.results import TaskType

CHUNKING_TASK_TYPES = frozenset({TaskType.TEXT_EMBEDDING, TaskType.SPARSE_EMBEDDING, TaskType.EMBEDDING})
DEFAULT_CHUNKING: dict[str, Any] = {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}

_ALLOWED = {
    "sentence": {"max_chunk_size", "sentence_overlap"},
    "word": {"max_chunk_size", "overlap"},
    "none": set(),
    "recursive": {"max_chunk_size", "separator_group", "separators"},
}


def parse_chunking(task_type: TaskType, given: JsonInput | None, problems: list[str]) -> JsonObject | None:
    """Validated chunking settings with defaults filled in, or None for task types that do not chunk.

    Problems are appended to ``problems`` so that the caller reports them with every other one.
    """
    if task_type not in CHUNKING_TASK_TYPES:
        if given:
            problems.append(f"[chunking_settings] are not supported for task type [{task_type}]")
        return None
    if given is None:
        return dict(DEFAULT_CHUNKING)
    raw: dict[str, Any] = dict(given)
    strategy = raw.pop("strategy", "sentence")
    if strategy not in _ALLOWED:
        problems.append(f"Invalid chunkingStrategy [{strategy}]; expected one of [{', '.join(_ALLOWED)}]")
        return None
    unknown = sorted(set(raw) - _ALLOWED[strategy])
    if unknown:
        problems.append(f"Sentence based chunking settings can not have the following settings: {unknown}"
                        if strategy == "sentence"
                        else f"[chunking_settings] contains settings {unknown} unknown to the [{strategy}] strategy")
    out: dict[str, Any] = {"strategy": strategy}
    if strategy == "none":
        return out
    size = raw.get("max_chunk_size", 250)
    minimum = 10 if strategy == "word" else 20
    if not _is_int(size) or not minimum <= size <= 300:
        problems.append(f"[chunking_settings] Invalid value [{size}]. [max_chunk_size] must be a greater than or "
                        f"equal to [{minimum}] and less than or equal to [300]")
        return None
    out["max_chunk_size"] = size
    if strategy == "sentence":
        overlap = raw.get("sentence_overlap", 1)
        if overlap not in (0, 1) or isinstance(overlap, bool):
            problems.append(f"[chunking_settings] Invalid value [{overlap}]. [sentence_overlap] must be 0 or 1")
        out["sentence_overlap"] = overlap
    elif strategy == "word":
        overlap = raw.get("overlap", min(100, size // 2))
        if not _is_int(overlap) or overlap < 0 or overlap > size // 2:
            problems.append(f"[chunking_settings] Invalid value [{overlap}]. [overlap] must be a positive integer "
                            f"less than or equal to half of [max_chunk_size] ({size // 2})")
        out["overlap"] = overlap
    else:
        for key in ("separator_group", "separators"):
            if key in raw:
                out[key] = raw[key]
        if "separators" not in out:
            out.setdefault("separator_group", "plaintext")
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
