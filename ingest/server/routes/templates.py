"""``_index_template`` and ``_component_template`` CRUD, stored in the registry (``ingest.models.templatestore``).

Shippers (Logstash's and Filebeat's Elasticsearch outputs) install their templates at start; these routes keep
them with Elasticsearch's bodies, statuses and messages. Settings are normalised as Elasticsearch does
(``index.`` prefix, values as strings); templates are not yet applied at index creation.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from ingest.models.errors import (
    ActionRequestValidationException,
    ElasticsearchError,
    IllegalArgumentException,
    ParsingException,
    ResourceNotFoundException,
)
from ingest.models.store import Store
from ingest.models.templatestore import COMPONENT_TEMPLATE, INDEX_TEMPLATE, patterns_intersect, simple_match
from ingest.server.dialect import PRODUCT_HEADER, bool_param, check_params, es_response, json_body
from ingest.server.security.declare import cluster

router = APIRouter(tags=["templates"])


class TemplateNameConvertor(Convertor[str]):
    """A template name segment; never ``_simulate`` (Elasticsearch's simulate API, not served here, must not
    create a template of that name)."""

    regex = "(?!_simulate(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("template_name", TemplateNameConvertor())

_INDEX_FIELDS = {"index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream",
                 "allow_auto_create", "ignore_missing_component_templates", "deprecated"}
_COMPONENT_FIELDS = {"template", "version", "_meta", "deprecated"}
_TEMPLATE_FIELDS = {"settings", "mappings", "aliases", "lifecycle", "data_stream_options"}
_PUT_PARAMS = ("create", "cause", "master_timeout")
_GET_PARAMS = ("local", "flat_settings", "master_timeout", "include_defaults")

_PUT_INDEX = cluster("manage_index_templates", "indices:admin/index_template/put")
_GET_INDEX = cluster("manage_index_templates", "indices:admin/index_template/get")
_DELETE_INDEX = cluster("manage_index_templates", "indices:admin/index_template/delete")
_PUT_COMPONENT = cluster("manage_index_templates", "cluster:admin/component_template/put")
_GET_COMPONENT = cluster("manage_index_templates", "cluster:admin/component_template/get")
_DELETE_COMPONENT = cluster("manage_index_templates", "cluster:admin/component_template/delete")


def _store(request: Request) -> Store:
    store: Store = request.app.state.api.store
    return store


class InvalidIndexTemplateException(ElasticsearchError):
    """``invalid_index_template_exception`` (400)."""

    status = 400
    error_type = "invalid_index_template_exception"


class IndexTemplateMissingException(ElasticsearchError):
    """``index_template_missing_exception`` (404)."""

    status = 404
    error_type = "index_template_missing_exception"


def normalize_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Elasticsearch's settings normalisation: flattened, ``index.``-prefixed, scalar values as strings, nested
    again for display (``{"number_of_shards": 1}`` -> ``{"index": {"number_of_shards": "1"}}``)."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = value

    walk("", settings)
    nested: dict[str, Any] = {}
    for key, value in sorted(flat.items()):
        key = key if key.startswith("index.") else f"index.{key}"
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = [_java(v) for v in value] if isinstance(value, list) else _java(value)
    return nested


def _java(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _object(body: Any, kind: str, fields: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ParsingException(f"[{kind}] failed to parse, expected an object", error_type="x_content_parse_exception")
    unknown = sorted(set(body) - fields)
    if unknown:
        raise ParsingException(f"[{kind}] unknown field [{unknown[0]}]", error_type="x_content_parse_exception")
    return dict(body)


def _inner_template(value: Any) -> dict[str, Any]:
    template = _object(value, "template", _TEMPLATE_FIELDS)
    if template.get("settings") is not None:
        if not isinstance(template["settings"], dict):
            raise ParsingException("[template] failed to parse field [settings]", error_type="x_content_parse_exception")
        template["settings"] = normalize_settings(template["settings"])
    return template


@router.put("/_index_template/{name:template_name}", dependencies=[_PUT_INDEX])
@router.post("/_index_template/{name:template_name}", dependencies=[_PUT_INDEX])
async def put_index_template(request: Request, name: str) -> Response:
    """Create or replace a composable index template (``?create=true``: only create)."""
    check_params(request, _PUT_PARAMS)
    create = bool_param(request, "create")
    body = _object(await json_body(request), "index_template", _INDEX_FIELDS)
    patterns = body.get("index_patterns")
    if patterns is None:
        raise IllegalArgumentException("Required [index_patterns]")
    body["index_patterns"] = [patterns] if isinstance(patterns, str) else patterns
    if not isinstance(body["index_patterns"], list) or not all(isinstance(p, str) for p in body["index_patterns"]):
        raise ParsingException("[index_template] failed to parse field [index_patterns]",
                               error_type="x_content_parse_exception")
    _validate_names(name, body["index_patterns"])
    if "template" in body:
        body["template"] = _inner_template(body["template"])
    body.setdefault("composed_of", [])
    if body.get("priority") is not None:
        body["priority"] = _priority(body["priority"])
    store = _store(request)

    def put() -> bool:
        existing = store.get_templates(COMPONENT_TEMPLATE)
        ignored = set(body.get("ignore_missing_component_templates") or [])
        missing = [c for c in body["composed_of"] if c not in existing and c not in ignored]
        if missing:
            raise InvalidIndexTemplateException(
                f"index_template [{name}] invalid, cause [index template [{name}] specifies component templates "
                f"[{', '.join(missing)}] that do not exist]")
        _check_overlap(store, name, body)
        return store.put_template(INDEX_TEMPLATE, name, body, create=create)

    if not await run_in_threadpool(put):
        raise IllegalArgumentException(f"index template [{name}] already exists")
    return es_response(request, {"acknowledged": True})


_FILENAME_CHARS = ' , ", *, \\, <, |, ,, >, /, ?'
_BAD_PATTERN_CHARS = set('\\/?"<>| ,')


def _validate_names(name: str, patterns: list[str]) -> None:
    """Elasticsearch's template name and pattern checks (MetadataIndexTemplateService.validate)."""
    problems = [problem for bad, problem in (
        (" " in name, "name must not contain a space"), ("," in name, "name must not contain a ','"),
        ("#" in name, "name must not contain a '#'"), ("*" in name, "name must not contain a '*'"),
        (name.startswith("_"), "name must not start with '_'"), (name.lower() != name, "name must be lower cased"),
    ) if bad]
    for p in patterns:
        problems += [problem for bad, problem in (
            (" " in p, f"index_patterns [{p}] must not contain a space"),
            ("," in p, f"index_pattern [{p}] must not contain a ','"),
            ("#" in p, f"index_pattern [{p}] must not contain a '#'"),
            (":" in p, f"index_pattern [{p}] must not contain a ':'"),
            (p.startswith("_"), f"index_pattern [{p}] must not start with '_'"),
            (bool(set(p) & _BAD_PATTERN_CHARS),
             f"index_pattern [{p}] must not contain the following characters [{_FILENAME_CHARS}]"),
        ) if bad]
    if problems:
        numbered = "".join(f"{i}: {problem};" for i, problem in enumerate(problems, 1))
        raise InvalidIndexTemplateException(f"index_template [{name}] invalid, cause [Validation Failed: {numbered}]")


def _priority(raw: Any) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ParsingException("[index_template] failed to parse field [priority]",
                               error_type="x_content_parse_exception") from None
    if value < 0:
        raise ActionRequestValidationException(["index template priority must be >= 0"])
    return value


def _check_overlap(store: Store, name: str, body: dict[str, Any]) -> None:
    """Elasticsearch's refusal of two templates of one priority whose patterns can match the same index."""
    priority = body.get("priority") or 0
    overlaps = {other: template["index_patterns"] for other, template in store.get_templates(INDEX_TEMPLATE).items()
                if other != name and (template.get("priority") or 0) == priority
                and any(patterns_intersect(a, b) for a in body["index_patterns"] for b in template["index_patterns"])}
    if overlaps:
        raise IllegalArgumentException(
            f"index template [{name}] has index patterns {_java_list(body['index_patterns'])} matching patterns from "
            f"existing templates [{','.join(overlaps)}] with patterns "
            f"({','.join(f'{n} => {_java_list(p)}' for n, p in overlaps.items())}) that have the same priority "
            f"[{priority}], multiple index templates may not match during index creation, please use a different "
            "priority")


def _java_list(values: list[str]) -> str:
    return f"[{', '.join(values)}]"


@router.get("/_index_template", dependencies=[_GET_INDEX])
async def get_index_templates(request: Request) -> Response:
    """Every index template."""
    return await _get(request, INDEX_TEMPLATE, None)


@router.get("/_index_template/{name:template_name}", dependencies=[_GET_INDEX])
async def get_index_template(request: Request, name: str) -> Response:
    """Index templates by name or ``*`` pattern; 404 when nothing matches."""
    return await _get(request, INDEX_TEMPLATE, name)


async def _get(request: Request, kind: str, name: str | None) -> Response:
    """GET of index (``kind`` "index") or component templates: their body keys and 404 follow the kind."""
    check_params(request, _GET_PARAMS)
    found = await run_in_threadpool(_store(request).get_templates, kind, name)
    if name is not None and "*" not in name and not found:
        raise ResourceNotFoundException(f"{kind} template matching [{name}] not found")
    body = {f"{kind}_templates": [{"name": n, f"{kind}_template": t} for n, t in found.items()]}
    return es_response(request, body, 200 if found or name is None else 404)


async def _exists(request: Request, kind: str, name: str) -> Response:
    """HEAD of a template: 200 when one of ``kind`` matches ``name``, else 404; no body."""
    check_params(request, _GET_PARAMS)
    found = await run_in_threadpool(_store(request).get_templates, kind, name)
    return Response(status_code=200 if found else 404, headers=PRODUCT_HEADER)


@router.head("/_index_template/{name:template_name}", dependencies=[_GET_INDEX])
async def index_template_exists(request: Request, name: str) -> Response:
    """200 when a template matches ``name``, else 404; no body."""
    return await _exists(request, INDEX_TEMPLATE, name)


@router.delete("/_index_template/{name:template_name}", dependencies=[_DELETE_INDEX])
async def delete_index_template(request: Request, name: str) -> Response:
    """Delete index templates: one name or pattern, or a comma list of exact names."""
    check_params(request, ("master_timeout", "timeout"))
    store = _store(request)
    names = _matching(store, INDEX_TEMPLATE, name, IndexTemplateMissingException, "index_template [{}] missing")
    await run_in_threadpool(store.delete_templates, INDEX_TEMPLATE, names)
    return es_response(request, {"acknowledged": True})


def _matching(store: Store, kind: str, raw: str, missing: type[ElasticsearchError], message: str) -> list[str]:
    """The names ``raw`` deletes, as Elasticsearch resolves them: a comma list names exact templates (all must
    exist), a single name may be a ``*`` pattern (``*`` matching nothing is no error)."""
    existing = store.get_templates(kind)
    names = raw.split(",")
    if len(names) > 1:
        absent = [n for n in names if n not in existing]
        if absent:
            raise missing(message.format(",".join(absent)))
        return names
    matched = [n for n in existing if simple_match(raw, n)]
    if not matched and raw != "*":
        raise missing(message.format(raw))
    return matched


@router.put("/_component_template/{name:template_name}", dependencies=[_PUT_COMPONENT])
@router.post("/_component_template/{name:template_name}", dependencies=[_PUT_COMPONENT])
async def put_component_template(request: Request, name: str) -> Response:
    """Create or replace a component template (``?create=true``: only create)."""
    check_params(request, _PUT_PARAMS)
    create = bool_param(request, "create")
    body = _object(await json_body(request), "component_template", _COMPONENT_FIELDS)
    if "template" not in body:
        raise IllegalArgumentException("Required [template]")
    _validate_names(name, [])
    body["template"] = _inner_template(body["template"])
    stored = await run_in_threadpool(_store(request).put_template, COMPONENT_TEMPLATE, name, body, create=create)
    if not stored:
        raise IllegalArgumentException(f"component template [{name}] already exists")
    return es_response(request, {"acknowledged": True})


@router.get("/_component_template", dependencies=[_GET_COMPONENT])
async def get_component_templates(request: Request) -> Response:
    """Every component template."""
    return await _get(request, COMPONENT_TEMPLATE, None)


@router.get("/_component_template/{name:template_name}", dependencies=[_GET_COMPONENT])
async def get_component_template(request: Request, name: str) -> Response:
    """Component templates by name or ``*`` pattern."""
    return await _get(request, COMPONENT_TEMPLATE, name)


@router.head("/_component_template/{name:template_name}", dependencies=[_GET_COMPONENT])
async def component_template_exists(request: Request, name: str) -> Response:
    """200 when a component template matches ``name``, else 404; no body."""
    return await _exists(request, COMPONENT_TEMPLATE, name)


@router.delete("/_component_template/{name:template_name}", dependencies=[_DELETE_COMPONENT])
async def delete_component_template(request: Request, name: str) -> Response:
    """Delete component templates no index template requires."""
    check_params(request, ("master_timeout", "timeout"))
    store = _store(request)

    def delete() -> None:
        names = _matching(store, COMPONENT_TEMPLATE, name, ResourceNotFoundException, "{}")
        users, used = [], []
        for template_name, template in store.get_templates(INDEX_TEMPLATE).items():
            ignored = set(template.get("ignore_missing_component_templates") or [])
            hit = [c for c in template.get("composed_of") or [] if c in names and c not in ignored]
            if hit:
                users.append(template_name)
                used += [c for c in hit if c not in used]
        if users:
            raise IllegalArgumentException(f"component templates [{', '.join(used)}] cannot be removed as they "
                                           f"are still in use by index templates [{', '.join(users)}]")
        store.delete_templates(COMPONENT_TEMPLATE, names)

    await run_in_threadpool(delete)
    return es_response(request, {"acknowledged": True})
