"""Building processors from their JSON definitions: the type registry and the common options."""

from __future__ import annotations

from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.processors import (
    attachment,
    enrich,
    fields,
    flow,
    geo,
    grok,
    network,
    parsing,
    redact,
    routing,
    security,
    streams,
    strings,
    textparse,
    useragent,
)
from ingest.processors.base import Common, Processor
from ingest.processors.config import Options
from ingest.processors.document import java_type
from ingest.processors.errors import config_error, illegal_argument
from ingest.processors.painless import Script, compile_script

# Elasticsearch's processor type names → implementations, family by family.
PROCESSOR_TYPES: dict[str, type[Processor]] = {
    cls.type: cls
    for module in (fields, strings, parsing, flow, textparse, grok, routing, network, useragent, geo,
                   redact, security, streams, enrich, attachment)
    for cls in module.PROCESSORS
}


def _register_inference() -> None:
    # Imported lazily: the inference family is the only one that talks to the models layer.
    from ingest.processors import inference, opensearch

    for cls in (*inference.PROCESSORS, *opensearch.PROCESSORS):
        PROCESSOR_TYPES[cls.type] = cls


_register_inference()


# Processors Elasticsearch or OpenSearch have that this implementation does not, and why (said when used).
UNSUPPORTED = {
    "cef": "the Common Event Format parser has not been ported",
    "circle": "it needs geometry support (shape tessellation) that this implementation does not have",
    "geo_grid": "it needs geo-tile/geohex grid support that this implementation does not have",
    "ml_inference": "it calls OpenSearch ML Commons models; use [text_embedding] or [inference] with an inference "
                    "endpoint",
    "text_image_embedding": "only text models are served here",
    "copy": "it is not implemented; [set] with [copy_from] copies a field",
}


class Builder:
    """The Factory every processor's ``create`` receives for nested processors and scripts."""

    def processors(self, configs: object, where: str) -> list[Processor]:
        """A list of ``{"type": {options}}`` definitions (``where`` names the option for messages)."""
        if not isinstance(configs, list):
            raise config_error(None, None, where, f"[{where}] property isn't a list, but of type [{java_type(configs)}]")
        out: list[Processor] = []
        for item in configs:
            if not isinstance(item, dict):
                raise config_error(None, None, where,
                                   f"[{where}] property isn't a map, but of type [{java_type(item)}]")
            if len(item) > 1:
                # Elasticsearch's PUT pipeline check; it also applies here to _simulate, which would otherwise
                # run both processors of the entry in an unspecified order.
                raise illegal_argument("[processors] contains nested objects but should be a list of single-entry "
                                       "objects")
            for name, options in item.items():
                out.append(self._one(name, options))
        return out

    def processor(self, config: object) -> Processor:
        """Exactly one processor definition (foreach's ``processor``)."""
        procs = self.processors([config], "processor")
        if len(procs) != 1:
            raise config_error("foreach", None, "processor", "Must specify exactly one processor type")
        return procs[0]

    def script(self, source: str, params: dict[str, Any] | None, *, condition: bool) -> Script:
        """Compile a Painless-subset script (raises script_exception with line/column when unsupported)."""
        return compile_script(source, params or {}, condition=condition)

    def _one(self, name: str, options: object) -> Processor:
        cls = PROCESSOR_TYPES.get(name)
        if cls is None and name in UNSUPPORTED:
            raise config_error(name, None, None, f"processor type [{name}] exists in Elasticsearch or OpenSearch but "
                                                 f"is not supported here: {UNSUPPORTED[name]}")
        if cls is None:
            raise config_error(name, None, None, f"No processor type exists with name [{name}]")
        if name == "script" and isinstance(options, str):
            options = {"source": options}
        if not isinstance(options, dict):
            raise config_error(name, None, None,
                               f"property isn't a map, but of type [{java_type(options)}]")
        tag = options.get("tag")
        opts = Options(name, options, tag if isinstance(tag, str) else None)
        opts.string("tag")
        common = Common(tag=opts.tag, description=opts.string("description"))
        cond = opts.raw("if")
        if cond is not None:
            source, params = _script_spec(opts, cond, "if")
            common.condition = self.script(source, params, condition=True)
        common.ignore_failure = opts.boolean("ignore_failure", False)
        handlers = opts.raw("on_failure")
        if handlers is not None:
            if isinstance(handlers, list) and not handlers:
                raise opts.error("on_failure", "[on_failure] processors list cannot be empty")
            common.on_failure = self.processors(handlers, "on_failure")
        try:
            proc = cls.create(opts, self)
        except ElasticsearchError:
            raise
        except Exception as exc:  # a malformed option value the processor did not anticipate
            raise opts.error(None, f"[{name}] processor has an invalid configuration: {exc}") from None
        proc.common = common
        opts.finish()
        return proc


def _script_spec(opts: Options, value: object, name: str) -> tuple[str, dict[str, Any] | None]:
    """A script given as a string or as ``{"source", "lang", "params"}``."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, dict):
        unknown = set(value) - {"source", "lang", "params", "options"}
        if unknown:
            raise opts.error(name, f"[{name}] unknown script field [{sorted(unknown)[0]}]")
        lang = value.get("lang", "painless")
        if lang != "painless":
            raise opts.error(name, f"[{name}] script lang [{lang}] is not supported (only a subset of painless)")
        if not isinstance(value.get("source"), str):
            raise opts.error(name, f"[{name}] must specify a script [source]")
        return value["source"], value.get("params")
    raise opts.error(name, f"[{name}] property isn't a string or map, but of type [{java_type(value)}]")
