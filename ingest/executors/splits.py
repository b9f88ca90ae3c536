"""Input splits of a file source for the Ray executor: one split per file, in the single-process runner's
order (sorted paths). A split is checkpointed once every row of it is acknowledged, so ``--resume`` skips the
files already done and re-reads the others whole (their documents keep their ids: nothing is duplicated).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.models.errors import IllegalArgumentException
from ingest.sources.files import expand, format_of

SPLIT_COLUMN = "path"  # the column naming the file (the split) of each row
RAY_FORMATS = ("parquet", "jsonl", "csv")


@dataclass(frozen=True)
class FileSplits:
    """The files of a source, their common format, and the reader options."""

    files: list[str]
    format: str
    options: dict[str, Any]


def file_splits(spec: str, options: dict[str, Any]) -> FileSplits:
    """Files of ``spec`` (a file, folder or glob) and their format; errors name what Ray cannot read."""
    if spec == "-" or spec.startswith(("http://", "https://")):
        raise IllegalArgumentException(f"source [{spec}] is not a file source")
    files = expand(spec)
    given = options.get("format")
    formats = {given} if given else {format_of(p) for p in files}
    if None in formats:
        unknown = next(str(p) for p in files if format_of(p) is None)
        raise IllegalArgumentException(f"cannot tell the format of [{unknown}]; pass --format parquet|jsonl|csv")
    if len(formats) > 1:
        raise IllegalArgumentException(f"source [{spec}] mixes formats {sorted(f for f in formats if f)}; "
                                       "the ray executor reads one format per job")
    fmt = str(formats.pop())
    if fmt not in RAY_FORMATS:
        raise IllegalArgumentException(f"format [{fmt}] is not supported by the ray executor; use one of {list(RAY_FORMATS)}")
    reader_options = {k: v for k, v in options.items() if k not in ("format", "batch_size")}
    splits = FileSplits([str(p.resolve()) for p in files], fmt, reader_options)
    _check_no_path_field(Path(splits.files[0]), fmt)
    return splits


def _check_no_path_field(first: Path, fmt: str) -> None:
    """Ray's readers name the split column ``path``; a document field of that name would be overwritten."""
    names: list[str] = []
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            names = list(pq.read_schema(first).names)
        except (OSError, pa.ArrowException):
            return  # a corrupt file: dead-lettered when the job reads it
    elif fmt == "jsonl":
        import gzip

        opener: Any = gzip.open if first.suffix.lower() == ".gz" else open
        with opener(first, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    try:
                        doc = json.loads(line)
                    except ValueError:
                        doc = {}
                    names = list(doc) if isinstance(doc, dict) else []
                    break
    else:
        with open(first, encoding="utf-8", errors="replace") as fh:
            names = [n.strip().strip('"') for n in fh.readline().rstrip("\r\n").split("\t" if first.suffix == ".tsv" else ",")]
    if SPLIT_COLUMN in names:
        raise IllegalArgumentException(
            f"the documents of [{first}] have a top-level field [{SPLIT_COLUMN}], which the ray executor uses to "
            "track input splits; run this source with the default executor"
        )
