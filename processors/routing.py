"""``uri_parts`` (split a URL into ECS url.* fields) and ``reroute`` (route to another data stream or index)."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import read_string
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import illegal_argument
from ingest.processors.template import Template


class UriPartsProcessor(Processor):
    """``uri_parts``: ``url.scheme``, ``url.domain``, ``url.port``, ``url.path``, ``url.extension``, ..."""

    type = "uri_parts"
    field: str
    target: str
    keep_original: bool
    remove_if_successful: bool
    ignore_missing: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.target = opts.string("target_field", "url")
        p.keep_original = opts.boolean("keep_original", True)
        p.remove_if_successful = opts.boolean("remove_if_successful", False)
        p.ignore_missing = opts.boolean("ignore_missing", False)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = read_string(doc, self.field, self.ignore_missing)
        if value is None:
            return
        parts = parse_uri(value)
        if self.keep_original:
            parts["original"] = value
        if self.remove_if_successful and self.field != self.target:
            doc.remove(self.field)
        doc.set(self.target, parts)


def parse_uri(value: str) -> dict[str, Any]:
    """The URL's parts, keyed as Elasticsearch's uri_parts processor keys them."""
    try:
        url = urllib.parse.urlsplit(value)
        port = url.port
    except ValueError as exc:
        raise illegal_argument(f"unable to parse URI [{value}]: {exc}") from None
    if not url.scheme:
        raise illegal_argument(f"unable to parse URI [{value}]")
    out: dict[str, Any] = {"scheme": url.scheme}
    if url.hostname:
        out["domain"] = url.hostname
    if port is not None:
        out["port"] = port
    if url.path:
        out["path"] = url.path
        last = url.path.rsplit("/", 1)[-1]
        if "." in last:
            out["extension"] = last.rsplit(".", 1)[-1]
    if url.query:
        out["query"] = url.query
    if url.fragment:
        out["fragment"] = url.fragment
    if url.username is not None:
        out["user_info"] = url.netloc.rsplit("@", 1)[0]
        out["username"] = url.username
        if url.password is not None:
            out["password"] = url.password
    return out


_DISALLOWED = re.compile(r"[\\/*?\"<>| ,#:]")


def _sanitize(value: str, namespace: bool) -> str:
    cleaned = _DISALLOWED.sub("_", value.lower())
    if namespace:
        cleaned = cleaned.replace("-", "_")
    return cleaned[:100]


class RerouteProcessor(Processor):
    """``reroute``: to ``destination``, or to ``<type>-<dataset>-<namespace>``; the current pipeline stops."""

    type = "reroute"
    destination: Template | None
    dataset: list[Template]
    namespace: list[Template]

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.destination = opts.template("destination", required=False)
        p.dataset = [Template(t) for t in opts.string_list("dataset") or ["{{data_stream.dataset}}"]]
        p.namespace = [Template(t) for t in opts.string_list("namespace") or ["{{data_stream.namespace}}"]]
        if p.destination is not None and (opts.has("dataset") or opts.has("namespace")):
            raise opts.error("destination", "only one of destination or dataset/namespace may be set")
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        if self.destination is not None:
            doc.ctx["_index"] = self.destination.render(doc)
            doc.terminated = True
            return
        index = str(doc.ctx.get("_index", ""))
        parts = index.split("-")
        if len(parts) < 3:
            raise illegal_argument(f"invalid data stream name: [{index}]; must follow naming scheme "
                                   "<type>-<dataset>-<namespace>")
        kind, current_dataset, current_namespace = parts[0], "-".join(parts[1:-1]), parts[-1]
        dataset = _sanitize(_first(self.dataset, doc) or current_dataset, namespace=False)
        namespace = _sanitize(_first(self.namespace, doc) or current_namespace, namespace=True)
        doc.ctx["_index"] = f"{kind}-{dataset}-{namespace}"
        doc.set("data_stream.type", kind)
        doc.set("data_stream.dataset", dataset)
        doc.set("data_stream.namespace", namespace)
        doc.terminated = True


def _first(templates: list[Template], doc: IngestDocument) -> str:
    for template in templates:
        value = template.render(doc)
        if value:
            return value
    return ""


PROCESSORS: list[type[Processor]] = [UriPartsProcessor, RerouteProcessor]
